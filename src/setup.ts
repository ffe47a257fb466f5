// Vitest setupFiles entry: arms the per-test and per-file leak brackets (side effect).
import './harness/setup.js'
