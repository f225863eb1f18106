// Just the Node.js built-ins these tests use. The tests run on the real ones (node --test);
// this spares the plugin a dependency on @types/node for four modules.

declare module 'node:test' {
  export function test(name: string, fn: () => void | Promise<void>): void;
}

declare module 'node:assert/strict' {
  interface Assert {
    (value: unknown, message?: string): asserts value;
    ok(value: unknown, message?: string): asserts value;
    equal<T>(actual: unknown, expected: T, message?: string): asserts actual is T;
    notEqual(actual: unknown, expected: unknown, message?: string): void;
    deepEqual<T>(actual: unknown, expected: T, message?: string): asserts actual is T;
    match(value: string, pattern: RegExp, message?: string): void;
    doesNotMatch(value: string, pattern: RegExp, message?: string): void;
  }
  const assert: Assert;
  export default assert;
}

declare module 'node:vm' {
  export interface Context {
    [name: string]: unknown;
  }
  export function createContext(sandbox: object): Context;
  export function runInContext(
    code: string,
    context: Context,
    options?: {filename?: string}
  ): unknown;
}

declare module 'node:fs' {
  export function readFileSync(path: URL | string, encoding: 'utf8'): string;
}
