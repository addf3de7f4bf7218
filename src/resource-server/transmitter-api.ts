/**
 * The issuer's Shared Signals API as event mode calls it (SSF 1.0 §7, §8.1; RFC 8936): the configuration, a
 * client_credentials token of the receiver client, a stream of its own, verification, status and poll. Only the
 * requests and their answers; what they mean for the cache is event-receiver.ts.
 */
import { randomToken } from '../lib/crypto.js';
import type { IssuerMetadata } from './discovery.js';
import { IssuerMisconfigured, IssuerUnavailable } from './errors.js';
import { basicAuthorization } from './introspect.js';
import type { IssuerHttp, IssuerReply } from './issuer-http.js';
import type { ResolvedOptions } from './options.js';
import type { SetError } from './security-events.js';

const POLL_METHOD = 'urn:ietf:rfc:8936';
/** SETs per poll answer: ~1 KB each, well inside what the HTTP client reads. */
const MAX_EVENTS = 25;

export interface SsfConfiguration {
  configurationEndpoint: string;
  statusEndpoint: string;
  verificationEndpoint: string;
  jwksUri: string;
}

export interface Stream {
  id: string;
  pollUrl: string;
}

/** The stream no longer exists (deleted by the issuer's inactivity janitor, or by anyone): open a new one. */
export class StreamGone extends IssuerUnavailable {
  constructor() {
    super('the stream no longer exists');
  }
}

/** RFC 8414 §3.1 placement, which SSF 1.0 §7.2 follows: the well-known segment before the issuer's path. */
export function ssfConfigurationUrl(issuer: string): string {
  const url = new URL(issuer);
  return `${url.origin}/.well-known/ssf-configuration${url.pathname === '/' ? '' : url.pathname}`;
}

function parseJson(reply: IssuerReply, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(reply.body);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // below
  }
  throw new IssuerMisconfigured(`${what} is not a JSON object`);
}

/** 5xx and 429 are the issuer's trouble; anything else unexpected is this API's configuration. */
function unexpected(reply: IssuerReply, what: string): Error {
  if (reply.status >= 500 || reply.status === 429) return new IssuerUnavailable(`${what} answered ${reply.status}`);
  return new IssuerMisconfigured(`${what} answered ${reply.status}`);
}

export class TransmitterApi {
  private token: string | undefined;
  /** performance.now() from which the token is renewed before it is used: a minute before its expires_in ends. */
  private renewTokenAtMs = 0;

  constructor(
    private readonly settings: ResolvedOptions,
    private readonly http: IssuerHttp,
    /** The long polls' own connection, with their own deadline. */
    private readonly pollHttp: IssuerHttp,
    private readonly discover: () => Promise<IssuerMetadata>,
    /** Fires at stop(): ends whatever request is in flight. */
    private readonly stopping: AbortSignal,
  ) {}

  async readConfiguration(): Promise<SsfConfiguration> {
    const reply = await this.http.send(ssfConfigurationUrl(this.settings.issuer), { method: 'GET', headers: { accept: 'application/json' } });
    if (reply.status !== 200) throw unexpected(reply, 'ssf-configuration');
    const json = parseJson(reply, 'ssf-configuration');
    // SSF 1.0 §7.1: the issuer of the configuration is the transmitter's; it must be the one this API trusts.
    if (json.issuer !== this.settings.issuer) throw new IssuerMisconfigured('ssf-configuration names another issuer');
    const url = (name: string): string => {
      const value = json[name];
      if (typeof value !== 'string' || !URL.canParse(value)) throw new IssuerMisconfigured(`ssf-configuration has no ${name}`);
      return value;
    };
    const methods = json.delivery_methods_supported;
    if (!Array.isArray(methods) || !methods.includes(POLL_METHOD)) throw new IssuerMisconfigured('the transmitter offers no poll delivery');
    return {
      configurationEndpoint: url('configuration_endpoint'),
      statusEndpoint: url('status_endpoint'),
      verificationEndpoint: url('verification_endpoint'),
      jwksUri: url('jwks_uri'),
    };
  }

  /** A client_credentials token of the receiver client, with the scopes of the SSF API. */
  private async receiverToken(): Promise<string> {
    if (this.token && performance.now() < this.renewTokenAtMs) return this.token;
    const { tokenEndpoint } = await this.discover();
    if (!tokenEndpoint) throw new IssuerMisconfigured('metadata has no token_endpoint');
    const events = this.settings.events!;
    const reply = await this.http.send(tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(events),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'ssf.manage ssf.read' }).toString(),
    });
    if (reply.status !== 200) throw unexpected(reply, 'the receiver token request');
    const answer = parseJson(reply, 'the token answer');
    const token = answer.access_token;
    if (typeof token !== 'string' || token === '') throw new IssuerMisconfigured('the token answer has no access_token');
    // Renewed ahead of its end, so that a poll rarely meets a 401 (which would drop the cache once).
    const expiresInSeconds = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : 300;
    this.renewTokenAtMs = performance.now() + Math.max(expiresInSeconds - 60, expiresInSeconds / 2) * 1000;
    return (this.token = token);
  }

  /** A call of the SSF API; a 401 (the token expired or its key was revoked) forgets the token for the next call. */
  private async call(http: IssuerHttp, url: string, method: 'GET' | 'POST' | 'DELETE', body?: unknown): Promise<IssuerReply> {
    const token = await this.receiverToken();
    const reply = await http.send(url, {
      method,
      ...(method === 'DELETE' ? {} : { signal: this.stopping }),
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (reply.status === 401) {
      this.token = undefined;
      throw new IssuerUnavailable('the SSF API refused the receiver token');
    }
    return reply;
  }

  /** SSF 1.0 §8.1.1.1: a poll stream of this API instance's own, for every event type. */
  async createStream(configuration: SsfConfiguration): Promise<Stream> {
    const reply = await this.call(this.http, configuration.configurationEndpoint, 'POST', {
      delivery: { method: POLL_METHOD },
      description: `gatehouse/resource-server for ${this.settings.audience}`,
    });
    if (reply.status !== 201) throw unexpected(reply, 'creating the stream');
    const json = parseJson(reply, 'the stream');
    const delivery = json.delivery as { method?: unknown; endpoint_url?: unknown } | undefined;
    if (typeof json.stream_id !== 'string' || delivery?.method !== POLL_METHOD || typeof delivery.endpoint_url !== 'string' || !URL.canParse(delivery.endpoint_url)) {
      throw new IssuerMisconfigured('the stream has no poll endpoint');
    }
    return { id: json.stream_id, pollUrl: delivery.endpoint_url };
  }

  /** SSF 1.0 §8.1.4.2: asks for a verification event; returns the state it will carry. */
  async requestVerification(configuration: SsfConfiguration, stream: Stream): Promise<string> {
    const state = randomToken(16);
    const reply = await this.call(this.http, configuration.verificationEndpoint, 'POST', { stream_id: stream.id, state });
    if (reply.status === 404) throw new StreamGone();
    if (reply.status !== 204 && reply.status !== 200) throw unexpected(reply, 'the verification request');
    return state;
  }

  /** SSF 1.0 §8.1.2.1: enabled, paused or disabled. */
  async readStatus(configuration: SsfConfiguration, stream: Stream): Promise<string> {
    const reply = await this.call(this.http, `${configuration.statusEndpoint}?${new URLSearchParams({ stream_id: stream.id })}`, 'GET');
    if (reply.status === 404) throw new StreamGone();
    if (reply.status !== 200) throw unexpected(reply, 'the stream status');
    const status = parseJson(reply, 'the stream status').status;
    return typeof status === 'string' ? status : 'unknown';
  }

  /** RFC 8936 §2: one poll, carrying the acknowledgements and error reports of the previous answer. */
  async poll(stream: Stream, request: { returnImmediately: boolean; ack: string[]; setErrs: Record<string, SetError> }): Promise<Record<string, unknown>> {
    const reply = await this.call(this.pollHttp, stream.pollUrl, 'POST', {
      maxEvents: MAX_EVENTS,
      returnImmediately: request.returnImmediately,
      ...(request.ack.length > 0 ? { ack: request.ack } : {}),
      ...(Object.keys(request.setErrs).length > 0 ? { setErrs: request.setErrs } : {}),
    });
    if (reply.status === 404) throw new StreamGone();
    if (reply.status !== 200) throw unexpected(reply, 'the poll');
    return parseJson(reply, 'the poll answer');
  }

  /** SSF 1.0 §8.1.1.5, best effort: an instance that vanishes leaves its stream to the inactivity timeout. */
  async deleteStream(configuration: SsfConfiguration, stream: Stream): Promise<void> {
    if (!this.token) return;
    await this.call(this.http, `${configuration.configurationEndpoint}?${new URLSearchParams({ stream_id: stream.id })}`, 'DELETE').catch(() => undefined);
  }
}
