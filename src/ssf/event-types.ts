/**
 * What each outbox event becomes in a Security Event Token (RFC 8417): its event type URI, its subject (`sub_id`,
 * RFC 9493 subject identifiers as SSF 1.0 §3 uses them) and its event payload. Pure: a function of the event,
 * the stream and the issuer.
 *
 * Registered types where one fits (CAEP 1.0 §3.1 session-revoked and §3.3 credential-change; RISC 1.0
 * account-disabled and account-enabled); for what none fits (one access token revoked, a client disabled, a
 * signing key revoked), a type under a URI of the issuer's own, `{issuer}/ssf/event-type/...` (docs/events.md).
 */
import type { EventRecord, EventType } from '../storage/events.js';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type';

export const SESSION_REVOKED = `${CAEP}/session-revoked`;
export const CREDENTIAL_CHANGE = `${CAEP}/credential-change`;
export const ACCOUNT_DISABLED = `${RISC}/account-disabled`;
export const ACCOUNT_ENABLED = `${RISC}/account-enabled`;
export const VERIFICATION = `${SSF}/verification`;
export const STREAM_UPDATED = `${SSF}/stream-updated`;

/** The event types the issuer defines itself, under its own URI. */
export const issuerEventType = (issuer: string, name: 'token-revoked' | 'client-disabled' | 'key-revoked') => `${issuer}/ssf/event-type/${name}`;

/** The URI of each outbox type. */
export function eventTypeUri(issuer: string, type: EventType): string {
  switch (type) {
    case 'session_revoked':
      return SESSION_REVOKED;
    case 'credential_change':
      return CREDENTIAL_CHANGE;
    case 'account_disabled':
      return ACCOUNT_DISABLED;
    case 'account_enabled':
      return ACCOUNT_ENABLED;
    case 'token_revoked':
      return issuerEventType(issuer, 'token-revoked');
    case 'client_disabled':
      return issuerEventType(issuer, 'client-disabled');
    case 'key_revoked':
      return issuerEventType(issuer, 'key-revoked');
    case 'verification':
      return VERIFICATION;
    case 'stream_updated':
      return STREAM_UPDATED;
  }
}

/** What a receiver may ask for in events_requested (SSF 1.0 §8.1.1 events_supported). */
export function eventsSupported(issuer: string): string[] {
  const types: EventType[] = ['session_revoked', 'credential_change', 'account_disabled', 'account_enabled', 'token_revoked', 'client_disabled', 'key_revoked'];
  return types.map((type) => eventTypeUri(issuer, type));
}

/** CAEP 1.0 §2 reason_admin: text for an administrator, by why the event happened. */
const REASONS: Record<string, string> = {
  admin: 'Ended by an administrator',
  revoked: 'Revoked by the client (logout)',
  logout: 'The user logged out at the issuer',
  replaced: 'Another user logged in in the same browser',
  refresh_reuse: 'A rotated refresh token was presented again (presumed stolen)',
  code_reuse: 'An authorization code was presented again',
  consent_revoked: "The user's consent to the client was withdrawn",
  password_changed: 'The password was changed',
  user_disabled: 'The account was disabled',
  user_enabled: 'The account was enabled again',
  client_disabled: 'The client was disabled',
  key_revoked: 'The signing key was revoked',
};

type SubjectId = Record<string, unknown>;

function subjectOf(issuer: string, event: EventRecord, streamId: string): SubjectId {
  const user = event.userId === null ? undefined : { format: 'iss_sub', iss: issuer, sub: event.userId };
  const session = event.sessionId === null ? undefined : { format: 'opaque', id: event.sessionId };
  const application = event.clientId === null ? undefined : { format: 'opaque', id: event.clientId };
  switch (event.type) {
    case 'verification':
    case 'stream_updated':
      // SSF 1.0 §8.1.4.2 and §8.1.5: the subject is the stream.
      return { format: 'opaque', id: streamId };
    case 'key_revoked':
      return { format: 'opaque', id: event.kid };
    case 'client_disabled':
      return application!;
    default: {
      const members = { ...(user ? { user } : {}), ...(session ? { session } : {}), ...(application && (session || event.type === 'session_revoked' || event.type === 'token_revoked') ? { application } : {}) };
      // A user alone is their iss_sub; anything else is a complex subject whose members say what each id is
      // (RFC 9493 §3.2.2 / SSF 1.0 §3.2), so an opaque client id is never taken for a session id.
      if (user && Object.keys(members).length === 1) return user;
      return { format: 'complex', ...members };
    }
  }
}

function payloadOf(event: EventRecord): Record<string, unknown> {
  if (event.type === 'verification') return event.detail?.state === undefined ? {} : { state: event.detail.state };
  if (event.type === 'stream_updated') return { status: event.detail?.status ?? 'enabled', ...(event.detail?.reason ? { reason: event.detail.reason } : {}) };
  const reason = event.reason === null ? undefined : REASONS[event.reason];
  const common = {
    event_timestamp: event.createdAt,
    ...(event.initiator === null ? {} : { initiating_entity: event.initiator }),
    ...(reason === undefined ? {} : { reason_admin: { en: reason } }),
  };
  switch (event.type) {
    case 'credential_change':
      // CAEP 1.0 §3.3: credential_type and change_type are REQUIRED.
      return { ...common, credential_type: 'password', change_type: 'update' };
    case 'token_revoked':
      return { ...common, jti: event.jti };
    case 'key_revoked':
      return { ...common, kid: event.kid };
    default:
      return common;
  }
}

/**
 * The claims of the SET that carries `event` on `stream`: one event per SET, no `sub` and no `exp` (SSF 1.0
 * §4.1.7, §4.1.9; RFC 8417 §2.2), `txn` the same for one outbox event on every stream.
 */
export function setClaims(issuer: string, event: EventRecord, stream: { id: string; audience: string }, now: number): Record<string, unknown> {
  return {
    iss: issuer,
    jti: setJti(stream.id, event.id),
    iat: now,
    aud: stream.audience,
    txn: String(event.id),
    sub_id: subjectOf(issuer, event, stream.id),
    events: { [eventTypeUri(issuer, event.type)]: payloadOf(event) },
  };
}

/** A SET's jti: the stream and the event, so that an acknowledgement names exactly one pending delivery. */
export const setJti = (streamId: string, eventId: number) => `${streamId}.${eventId}`;

/** The event id an acknowledged jti of this stream names; undefined for anything else. */
export function eventIdOf(streamId: string, jti: string): number | undefined {
  const prefix = `${streamId}.`;
  if (!jti.startsWith(prefix)) return undefined;
  const rest = jti.slice(prefix.length);
  if (!/^[1-9][0-9]{0,15}$/.test(rest)) return undefined;
  return Number(rest);
}
