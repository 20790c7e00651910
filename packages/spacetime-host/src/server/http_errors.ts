// Client mistakes in HTTP requests and upgrades: thrown as HttpError by whatever finds them, and
// answered by the server with their status and message, logged below error level without a stack
// (a bad request is the client's problem, not an incident of ours).

export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 413 | 429 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** One percent-encoded path segment, decoded; a malformed escape (`%ZZ`, a cut UTF-8 sequence) is a 400. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed percent-escape in the request path: ${JSON.stringify(segment.slice(0, 200))}`);
  }
}
