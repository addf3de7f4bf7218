/** The scopes of the Shared Signals API: managing streams, and reading them (stream configuration, status, poll). */
export const SSF_MANAGE_SCOPE = 'ssf.manage';
export const SSF_READ_SCOPE = 'ssf.read';
export const SSF_SCOPES = [SSF_MANAGE_SCOPE, SSF_READ_SCOPE] as const;
