/** What `action` throws, or undefined when it returns: for checks on the error's type and code. */
export function errorOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}
