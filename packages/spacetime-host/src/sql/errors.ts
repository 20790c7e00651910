/** A query the engine refuses: bad syntax, unknown names, type errors, unsupported shapes. */
export class SqlError extends Error {
  override name = 'SqlError';
}
