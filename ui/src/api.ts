// The page's client of the gateway's public API. Same origin only (relative URLs, credentials never sent
// elsewhere). Authentication is whatever the gateway asks for: a bearer token the user typed, kept in this tab's
// sessionStorage (never in a URL or in localStorage, so it ends with the tab), or none at all when the browser
// presents a client certificate (mutual TLS) or the gateway serves local callers without credentials.

const TOKEN_KEY = 'libvirt-admin-gateway.token';

/** An RFC 9457 problem as the gateway sends it. */
export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
}

/** A request the gateway answered with an error (or that never reached it: status 0). */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }

  get status(): number {
    return this.problem.status;
  }
}

/** A successful answer: the body and the ETag, when the resource has one. */
export interface Answer<T> {
  body: T;
  etag: string | null;
}

/** The caller as GET /whoami tells it. */
export interface Caller {
  kind: 'anonymous' | 'token' | 'certificate';
  name: string;
  role: Role;
}

export type Role = 'viewer' | 'operator' | 'admin';
const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** True when `role` may do what `required` may. */
export function allows(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** The token of this tab, if the user gave one. */
export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keeps the token for this tab only; null forgets it. */
export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** Headers that authenticate a request: the bearer token when there is one. */
export function authHeaders(): Record<string, string> {
  const token = storedToken();
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/** Path of a resource of a daemon: `/daemons/{daemon}` plus the rest, each name escaped. */
export function daemonPath(daemon: string, ...parts: Array<string | number>): string {
  return ['/daemons', daemon, ...parts.map(String)].map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/');
}

/** GET a JSON resource. */
export function get<T>(path: string): Promise<Answer<T>> {
  return call<T>('GET', path);
}

/**
 * A change: always with If-Match when the caller read the resource first (a 412 then means someone changed it
 * meanwhile), and always with X-Requested-With, which a page of another site cannot make a browser send.
 */
export function change<T>(
  method: 'PATCH' | 'PUT' | 'DELETE' | 'POST',
  path: string,
  body?: unknown,
  ifMatch?: string | null,
): Promise<Answer<T>> {
  return call<T>(method, path, body, ifMatch ?? undefined);
}

async function call<T>(method: string, path: string, body?: unknown, ifMatch?: string): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  if (method !== 'GET') headers['x-requested-with'] = 'libvirt-admin-gateway-ui';
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (ifMatch !== undefined) headers['if-match'] = ifMatch;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
      redirect: 'error',
    });
  } catch (err) {
    throw new ApiError({
      status: 0,
      code: 'ERR_NETWORK',
      title: 'The gateway cannot be reached',
      detail: (err as Error).message,
    });
  }
  if (!res.ok) throw new ApiError(await problemOf(res));
  const text = res.status === 204 ? '' : await res.text();
  return { body: (text === '' ? null : JSON.parse(text)) as T, etag: res.headers.get('etag') };
}

/** The problem document of an error response (or one made up from its status when it has none). */
export async function problemOf(res: Response): Promise<Problem> {
  try {
    const body = (await res.json()) as Partial<Problem>;
    if (typeof body.detail === 'string') {
      return {
        status: res.status,
        code: body.code ?? 'ERR_UNKNOWN',
        title: body.title ?? res.statusText,
        detail: body.detail,
      };
    }
  } catch {
    // not JSON: fall through
  }
  return {
    status: res.status,
    code: 'ERR_UNKNOWN',
    title: res.statusText || `HTTP ${res.status}`,
    detail: `HTTP ${res.status}`,
  };
}

/** Text for an error shown to the user: plain words for the statuses that need them, and the gateway's detail. */
export function describeError(err: unknown, what: string): string {
  if (!(err instanceof ApiError)) return `${what} failed: ${(err as Error).message}`;
  const { status, detail } = err.problem;
  if (status === 412) {
    return `${what}: not done. Someone changed it after you opened this form, so nothing was changed. Reload the values and try again.`;
  }
  if (status === 401) return `${what}: your credentials were not accepted (${detail}).`;
  if (status === 403) return `${what}: refused (${detail}).`;
  if (status === 0) return `${what}: the gateway cannot be reached (${detail}).`;
  return `${what} failed (${status}): ${detail}`;
}
