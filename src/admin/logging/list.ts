/**
 * Splits a list of outputs or filters like virLogParseOutputs/virLogParseFilters (src/util/virlog.c, g_strsplit at
 * " "): at single spaces only (a tab or newline is part of a token), dropping the empty tokens that leading,
 * trailing or repeated spaces leave.
 */
export function splitLogList(src: string): string[] {
  return src.split(' ').filter((token) => token !== '');
}
