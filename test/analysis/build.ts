/** A small builder of validated PolicySet objects, so analysis tests do not need the loader. */
import type {
  ActionSpec,
  Capability,
  FunctionSpec,
  MandateDoc,
  MandateMode,
  PolicySet,
  Risk,
  Sensitivity,
  TargetDoc,
  TaskTokenRule,
} from '../../src/policy/model.js';

let line = 1;
const loc = (file: string) => ({ file, line: line++, column: 3 });

export function act(target: string, methods: string[] = ['GET'], paths: string[] = ['/v1/items/{id}']): ActionSpec {
  return { target, methods, paths, location: loc('policies/actions.yaml') };
}

export function fn(name: string, actions: ActionSpec[], taskToken: TaskTokenRule = 'optional'): FunctionSpec {
  return { name, taskToken, maxTokenTtlSeconds: 900, actions, location: loc('policies/functions.yaml') };
}

export interface MandateOpts {
  risk?: Risk;
  reviewBy?: string | null;
  mode?: MandateMode;
  labels?: Record<string, string>;
  owner?: string;
}

/** A mandate with a far-future review date unless told otherwise. */
export function mandate(name: string, subject: string, functions: FunctionSpec[], o: MandateOpts = {}): MandateDoc {
  const reviewByText = o.reviewBy === undefined ? '2099-01-01' : o.reviewBy;
  return {
    kind: 'Mandate',
    name,
    labels: o.labels ?? {},
    subject,
    owner: o.owner ?? 'team-x',
    purpose: `purpose of ${name}`,
    risk: o.risk ?? 'medium',
    reviewBy: reviewByText === null ? null : Date.parse(reviewByText.length === 10 ? `${reviewByText}T00:00:00Z` : reviewByText),
    reviewByText,
    mode: o.mode ?? 'enforce',
    functions,
    location: loc(`policies/${name}.yaml`),
  };
}

export interface TargetOpts {
  sensitivity?: Sensitivity;
  environment?: string | null;
  capabilities?: Capability[];
}

export function target(name: string, match: string, o: TargetOpts = {}): TargetDoc {
  const td = match.startsWith('spiffe://') ? match.slice(9).split('/')[0]! : null;
  return {
    kind: 'Target',
    name,
    labels: {},
    match,
    owner: null,
    sensitivity: o.sensitivity ?? 'medium',
    environment: o.environment === undefined ? td : o.environment,
    capabilities: o.capabilities ?? [],
    location: loc(`policies/targets.yaml`),
  };
}

export function policySet(mandates: MandateDoc[], targets: TargetDoc[] = []): PolicySet {
  return { mandates, targets, revision: 'test', files: [] };
}

export const id = (sa: string, td = 'prod.example.org') => `spiffe://${td}/ns/default/sa/${sa}`;
