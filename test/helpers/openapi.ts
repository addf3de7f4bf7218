/**
 * Checks answers against the issuer's OpenAPI document (src/openapi/document.ts): the operation for the method and
 * path, a documented status, its required headers (and their schemas), its media type and its body schema (JSON
 * Schema 2020-12 through ajv). Every in-process test issuer runs every answer through it (test/helpers/issuer.ts),
 * so the whole suite's answers are checked against the document and it cannot drift from the server.
 *
 * Paths no route has must answer the document's NotFound; known paths with another method MethodNotAllowed;
 * OPTIONS the Options answer (204); HEAD what GET answers, without a body.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { openApiDocument } from '../../src/openapi/document.js';

type Json = any;

export interface Answer {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  contentType: string;
  /** The parsed JSON body, the text, or undefined when there is none. */
  body: unknown;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

export class OpenApiChecker {
  readonly document: Json;
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<object, ValidateFunction>();
  private readonly routes: Array<{ template: string; pattern: RegExp }>;

  constructor(issuer: string) {
    this.document = openApiDocument(issuer);
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'gatehouse', $defs: this.document.components.schemas });
    this.routes = Object.keys(this.document.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{[^}]+\\\}/g, '[^/]+')}$`),
    }));
  }

  private validator(schema: object): ValidateFunction {
    let validate = this.compiled.get(schema);
    if (!validate) {
      // Document-relative refs (#/components/schemas/X) point into the registered $defs.
      const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"gatehouse#/$defs/'));
      validate = this.ajv.compile(rewritten);
      this.compiled.set(schema, validate);
    }
    return validate;
  }

  private schemaProblems(schema: object, value: unknown, what: string): string[] {
    const validate = this.validator(schema);
    if (validate(value)) return [];
    return [`${what}: ${this.ajv.errorsText(validate.errors, { dataVar: 'body' })}`];
  }

  /** The problems of one answer; empty when it matches the document. */
  check(answer: Answer): string[] {
    const what = `${answer.method} ${answer.path} → ${answer.status}`;
    const route = this.routes.find((candidate) => candidate.pattern.test(answer.path));
    const item = route && this.document.paths[route.template];
    const components = this.document.components.responses;
    const method = answer.method.toLowerCase();
    let response: Json;
    if (!item) {
      response = answer.status === 404 ? components.NotFound : undefined;
    } else if (method === 'options') {
      response = answer.status === 204 ? components.Options : undefined;
    } else {
      const operation = item[method] ?? (method === 'head' ? item.get : undefined);
      if (!operation) response = answer.status === 405 ? components.MethodNotAllowed : undefined;
      else response = operation.responses[String(answer.status)];
    }
    if (!response) return [`${what}: not a documented answer`];

    const problems: string[] = [];
    for (const [name, spec] of Object.entries((response.headers ?? {}) as Record<string, Json>)) {
      const value = answer.headers[name.toLowerCase()];
      if (value === undefined) {
        if (spec.required) problems.push(`${what}: header ${name} is missing`);
        continue;
      }
      problems.push(...this.schemaProblems(spec.schema, String(value), `${what}: header ${name}`));
    }
    const hasBody = answer.body !== undefined && answer.body !== '' && answer.method !== 'HEAD';
    if (!response.content) {
      if (hasBody) problems.push(`${what}: a body where the document has none`);
      return problems;
    }
    if (answer.method === 'HEAD') return problems;
    const mediaType = answer.contentType.split(';')[0]!.trim().toLowerCase();
    const media = response.content[mediaType];
    if (!media) return [...problems, `${what}: content type ${answer.contentType} is not documented`];
    return [...problems, ...this.schemaProblems(media.schema, answer.body, `${what}: body`)];
  }
}
