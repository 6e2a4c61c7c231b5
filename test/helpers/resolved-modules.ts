import module from 'node:module';

/**
 * Records the URL of every module this process resolves from now on (a `node:module` resolve hook),
 * for tests that check what a code path loads. Returns the live list.
 */
export function recordResolvedModules(): string[] {
  const resolved: string[] = [];
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context);
      resolved.push(result.url);
      return result;
    },
  });
  return resolved;
}
