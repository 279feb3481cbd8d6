/**
 * The generated mandates, translated into the peers' own policy languages as a user of
 * each would write them (simplest faithful encoding, no tricks either way):
 * - Cedar: one `permit` per (mandate, function), conditions on context;
 * - Casbin: one policy row per (mandate, function, action, method, path template), the
 *   ABAC model below with keyMatch2 for templates;
 * - Rego (OPA): the mandates as data, indexed by subject, with a segment-wise matcher.
 * Path templates keep their meaning on the benchmark's requests: `{x}` is one segment
 * (`*` in Cedar's `like`, which may span `/`; `:x` in keyMatch2), `**` a tail.
 */

function splitHost(host) {
  const i = host.lastIndexOf(':');
  if (i > 0 && /^[0-9]+$/.test(host.slice(i + 1))) return { name: host.slice(0, i), port: Number(host.slice(i + 1)) };
  return { name: host, port: null };
}

/** Fields the peers decide on, derived from a request's `peer` entry once (outside the timed loop). */
export function peerFacts(p) {
  const h = splitHost(p.host.toLowerCase());
  return { ...p, hostName: h.name, port: h.port ?? 0, hostPort: h.port === null ? h.name : `${h.name}:${h.port}` };
}

const q = (s) => JSON.stringify(s);

function cedarTarget(target) {
  if (target.startsWith('spiffe://')) return `context.destination == ${q(target)}`;
  const h = splitHost(target);
  return h.port === null ? `context.host == ${q(h.name)}` : `(context.host == ${q(h.name)} && context.port == ${h.port})`;
}

function cedarLike(template) {
  return template.split('/').map((seg) => (seg === '**' || seg.startsWith('{') ? '*' : seg)).join('/');
}

/** Cedar policy text: one permit per mandate function. */
export function toCedar(model) {
  const out = [];
  for (const m of model.mandates) {
    for (const f of m.functions) {
      const alts = f.actions.map((a) => {
        const methods = a.methods[0] === '*' ? null : a.methods.map((x) => `context.method == ${q(x)}`).join(' || ');
        const paths = a.paths.map((p) => `context.path like ${q(cedarLike(p))}`).join(' || ');
        return `(${cedarTarget(a.target)}${methods === null ? '' : ` && (${methods})`} && (${paths}))`;
      });
      out.push(`permit (principal == Workload::${q(m.subject)}, action == Action::"check", resource)\nwhen { context.function == ${q(f.name)} && (${alts.join(' || ')}) };`);
    }
  }
  return out.join('\n');
}

export const CASBIN_MODEL = `
[request_definition]
r = sub, fn, dest, host, hostport, act, path

[policy_definition]
p = sub, fn, tgt, act, path

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.fn == p.fn && (r.dest == p.tgt || r.host == p.tgt || r.hostport == p.tgt) && (p.act == "*" || r.act == p.act) && keyMatch2(r.path, p.path)
`;

function keyMatch2Template(template) {
  return template.split('/').map((seg) => (seg === '**' ? '*' : seg.startsWith('{') ? ':' + seg.slice(1, -1) : seg)).join('/');
}

/** Casbin policy rows [sub, fn, tgt, act, path]. */
export function toCasbin(model) {
  const rows = [];
  for (const m of model.mandates) {
    for (const f of m.functions) {
      for (const a of f.actions) {
        for (const method of a.methods) for (const p of a.paths) rows.push([m.subject, f.name, a.target, method, keyMatch2Template(p)]);
      }
    }
  }
  return rows;
}

/** Data for benchmarks/opa/policy.rego: mandates keyed by subject, templates pre-split. */
export function toRegoData(model) {
  const mandates = {};
  for (const m of model.mandates) {
    const functions = {};
    for (const f of m.functions) {
      functions[f.name] = {
        token_required: m.tokenRequired,
        actions: f.actions.map((a) => ({
          target: a.target,
          methods: a.methods,
          paths: a.paths.map((p) => {
            const segs = p.slice(1).split('/');
            const tail = segs[segs.length - 1] === '**';
            if (tail) segs.pop();
            return { segs: segs.map((s) => (s.startsWith('{') ? '{}' : s)), tail };
          }),
        })),
      };
    }
    mandates[m.subject] = { expired: m.expired, functions };
  }
  return { mandates };
}
