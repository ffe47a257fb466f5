// The `/users` store: SQLite (sql.js, WebAssembly, nothing to install) loaded from `DATABASE_PATH` when it opens and
// written back when it closes. Opening fails, and is retried by the caller, when the path cannot be read or written.

import { access, readFile, rename, writeFile } from 'node:fs/promises'
import { constants } from 'node:fs'
import { dirname } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { createRequire } from 'node:module'
import type initSqlJs from 'sql.js'
import type { Database, SqlJsStatic } from 'sql.js'

export interface User {
  readonly id: number
  readonly name: string
  readonly email: string | null
  readonly createdAt: string
}

/** A connection to the users table. Every call but `close()` throws once it is closed. */
export interface UsersDb {
  readonly path: string
  list(): User[]
  create(input: { readonly name: string; readonly email?: string | null }): User
  count(): number
  /** `true` while the connection answers a query. */
  ping(): boolean
  /** Writes the file (unless `:memory:`) and closes. Idempotent. */
  close(): Promise<void>
}

let engine: Promise<SqlJsStatic> | undefined

async function loadEngine(): Promise<SqlJsStatic> {
  // Loaded on first use: an invalid configuration exits before paying for the WebAssembly compile.
  // Baseline (Liftoff) code only: optimising sql.js's 650 KB of wasm in the background costs ~0.2 s of CPU a process
  // for a handful of tiny queries, and Node waits for those background compiles before it can exit.
  if (!engine) setFlagsFromString('--liftoff-only')
  // Required, not imported: sql.js is CommonJS, and an import would have Node scan its 100 kB of JavaScript for named
  // exports first. About 60 ms of CPU less a server process (105 against 165 ms to load it and run three queries).
  engine ??= Promise.resolve().then(() => (createRequire(import.meta.url)('sql.js') as typeof initSqlJs)())
  return engine
}

/**
 * Opens (or creates) the users database at `path`; `':memory:'` keeps it in memory only.
 *
 * @example
 * const db = await connectWithBackoff(() => openUsersDb('./users.sqlite'), { name: 'the database' })
 */
export async function openUsersDb(path: string): Promise<UsersDb> {
  const SQL = await loadEngine()
  let data: Buffer | undefined
  if (path !== ':memory:') {
    try {
      data = await readFile(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      // A new file is fine, as long as it can be written where it is meant to go.
      await access(dirname(path), constants.W_OK)
    }
  }
  const db: Database = new SQL.Database(data)
  db.run(
    'create table if not exists users (id integer primary key autoincrement, name text not null, email text, created_at text not null)',
  )
  let closed: Promise<void> | undefined

  const rows = (sql: string, params?: (string | number | null)[]) => db.exec(sql, params)[0]?.values ?? []
  const check = () => {
    if (closed) throw new Error('The database connection is closed.')
  }

  return {
    path,
    list() {
      check()
      return rows('select id, name, email, created_at from users order by id').map(([id, name, email, createdAt]) => ({
        id: Number(id),
        name: String(name),
        email: email === null ? null : String(email),
        createdAt: String(createdAt),
      }))
    },
    create(input) {
      check()
      const createdAt = new Date().toISOString()
      db.run('insert into users (name, email, created_at) values (?, ?, ?)', [input.name, input.email ?? null, createdAt])
      const id = Number(rows('select last_insert_rowid()')[0]![0])
      return { id, name: input.name, email: input.email ?? null, createdAt }
    },
    count() {
      check()
      return Number(rows('select count(*) from users')[0]![0])
    },
    ping() {
      if (closed) return false
      try {
        return rows('select 1')[0]?.[0] === 1
      } catch {
        return false
      }
    },
    close() {
      closed ??= (async () => {
        try {
          if (path !== ':memory:') {
            // Write next to the file, then rename: a crash mid-write never leaves half a database behind.
            const temporary = `${path}.${process.pid}.tmp`
            await writeFile(temporary, db.export())
            await rename(temporary, path)
          }
        } finally {
          db.close()
        }
      })()
      return closed
    },
  }
}
