// The few promise-returning file calls the agent makes, on node:fs's callback API.
//
// Why not node:fs/promises: importing it loads ten more builtin modules (readline's Interface, the REPL
// history, fs watchers, os…) for nothing the agent uses; each costs heap (bytecode, module objects) and
// pages of the node binary (their sources). node:fs itself is loaded by Node's bootstrap already.

import type { Stats } from 'node:fs';

const fs = process.getBuiltinModule('node:fs');

function call<T>(run: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));
}

export const readFile: { (path: string): Promise<Buffer>; (path: string, encoding: 'utf8'): Promise<string> } = ((path: string, encoding?: 'utf8') =>
  call<Buffer | string>((done) => (encoding ? fs.readFile(path, encoding, done) : fs.readFile(path, done)))) as never;
export const writeFile = (path: string, data: Uint8Array): Promise<void> => call<void>((done) => fs.writeFile(path, data, (e) => done(e, undefined)));
export const stat = (path: string): Promise<Stats> => call<Stats>((done) => fs.stat(path, done));
export const readdir = (path: string): Promise<string[]> => call<string[]>((done) => fs.readdir(path, done));
export const rename = (from: string, to: string): Promise<void> => call<void>((done) => fs.rename(from, to, (e) => done(e, undefined)));
export const unlink = (path: string): Promise<void> => call<void>((done) => fs.unlink(path, (e) => done(e, undefined)));
export const mkdir = (path: string, options: { recursive: true }): Promise<void> => call<void>((done) => fs.mkdir(path, options, (e) => done(e, undefined)));
export const glob = (pattern: string, options: { cwd: string }): Promise<string[]> => call<string[]>((done) => fs.glob(pattern, options, done));
