/**
 * Resolves a log file path like libvirt 9.0.0 does before opening it (virLogParseOutput calls
 * g_canonicalize_filename): a relative path is taken from `cwd` (libvirtd runs in '/'), '.' and '..' are resolved
 * lexically (without looking at links), repeated and trailing slashes dropped, and exactly two leading slashes kept
 * (POSIX lets '//' mean something else). "" resolves to `cwd`.
 */
export function canonicalizeLogPath(path: string, cwd = '/'): string {
  const full = path.startsWith('/') ? path : `${cwd.replace(/\/+$/, '')}/${path}`;
  const leading = /^\/*/.exec(full)?.[0].length ?? 0;
  const parts: string[] = [];
  for (const part of full.slice(leading).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return (leading === 2 ? '//' : '/') + parts.join('/');
}
