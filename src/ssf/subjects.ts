/**
 * Subjects a receiver adds to or removes from its stream (SSF 1.0 §8.1.3). Streams carry every subject by default
 * (`default_subjects: ALL`): removing one stops events about it, adding it back resumes them. A subject is named
 * with an RFC 9493 identifier: `iss_sub` of this issuer for a user, or `complex` with one member, `user`,
 * `session` (`opaque` sid) or `application` (`opaque` client_id), as the SETs name them. Whether such a user,
 * session or client exists is never revealed: the answer is the same either way.
 */
import { invalidRequest } from '../errors.js';
import type { EventRecord } from '../storage/events.js';
import type { SubjectKey } from '../storage/streams.js';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const idOf = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 && value.length <= 128 ? value : undefined);

function simple(subject: Json, issuer: string, member: 'user' | 'session' | 'application'): SubjectKey {
  if (member === 'user') {
    const sub = idOf(subject.sub);
    if (subject.format !== 'iss_sub' || subject.iss !== issuer || sub === undefined) throw invalidRequest('A user is named with format iss_sub, this issuer and their sub');
    return { kind: 'user', value: sub };
  }
  const id = idOf(subject.id);
  if (subject.format !== 'opaque' || id === undefined) throw invalidRequest(`A ${member} is named with format opaque and its id`);
  return { kind: member, value: id };
}

export function parseSubject(value: unknown, issuer: string): SubjectKey {
  if (!isObject(value)) throw invalidRequest('subject must be a subject identifier object');
  if (value.format === 'iss_sub') return simple(value, issuer, 'user');
  if (value.format === 'complex') {
    const members = (['user', 'session', 'application'] as const).filter((name) => value[name] !== undefined);
    const member = members[0];
    if (members.length !== 1 || member === undefined || !isObject(value[member])) throw invalidRequest('A complex subject here has exactly one of user, session or application');
    return simple(value[member] as Json, issuer, member);
  }
  throw invalidRequest('subject format must be iss_sub or complex');
}

/** Whether an event is about a removed subject (verification and stream-updated are about the stream itself). */
export function isExcluded(event: EventRecord, excluded: readonly SubjectKey[]): boolean {
  if (excluded.length === 0 || event.streamId !== null) return false;
  return excluded.some(
    (subject) =>
      (subject.kind === 'user' && event.userId === subject.value) ||
      (subject.kind === 'session' && event.sessionId === subject.value) ||
      (subject.kind === 'application' && event.clientId === subject.value),
  );
}
