import { readFileSync } from 'node:fs';

/**
 * User and group names for client info (libvirt's virGetUserName/virGetGroupName). libvirt asks NSS; Node has no
 * getpwuid, so the local files are read: names that only a network directory (LDAP, SSSD) knows stay unknown, and
 * the field is then left out of the client info.
 */

/** Name of `id` in a colon-separated database such as /etc/passwd (name:x:id:...), or undefined. */
export function lookupName(database: string, id: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(database, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && fields[2] === String(id) && fields[0]) return fields[0];
  }
  return undefined;
}

/** The user name of a uid from /etc/passwd. */
export function userName(uid: number, passwd = '/etc/passwd'): string | undefined {
  return lookupName(passwd, uid);
}

/** The group name of a gid from /etc/group. */
export function groupName(gid: number, group = '/etc/group'): string | undefined {
  return lookupName(group, gid);
}
