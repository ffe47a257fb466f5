// Production-safe lifecycle entry: never imports vitest.
export {}
