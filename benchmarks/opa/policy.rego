# The generated mandates as Rego, for the OPA peer: data.mandates is keyed by subject, so
# a decision is a lookup plus a scan of one function's actions, as in mandate. Same rules
# as mandate on the benchmark's requests: review date, path hygiene, target, method,
# segment-wise templates, task token required by high-risk functions.
package envoy.authz

default allow := false

http := input.attributes.request.http

mandate := data.mandates[input.attributes.source.principal]

function := mandate.functions[http.headers["x-business-function"]]

host := lower(http.host)

host_name := split(host, ":")[0]

allow if {
	not mandate.expired
	not bad_path
	some action in function.actions
	target_ok(action.target)
	method_ok(action.methods)
	some template in action.paths
	path_ok(template)
	token_ok
}

bad_path if {
	some s in input.parsed_path
	s in {"", ".", ".."}
}

target_ok(t) if t == input.attributes.destination.principal

target_ok(t) if t == host

target_ok(t) if t == host_name

method_ok(ms) if "*" in ms

method_ok(ms) if http.method in ms

token_ok if not function.token_required

token_ok if http.headers["txn-token"]

path_ok(t) if {
	not t.tail
	count(t.segs) == count(input.parsed_path)
	every i, s in t.segs {
		seg_ok(s, input.parsed_path[i])
	}
}

path_ok(t) if {
	t.tail
	count(input.parsed_path) >= count(t.segs)
	every i, s in t.segs {
		seg_ok(s, input.parsed_path[i])
	}
}

seg_ok("{}", v) if v != ""

seg_ok(s, v) if {
	s != "{}"
	s == v
}
