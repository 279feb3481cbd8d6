// Command opa-ext-authz is the OPA peer for mandate's end-to-end benchmark: an Envoy
// ext_authz v3 gRPC server that evaluates a Rego policy with OPA's Go SDK, the way
// opa-envoy-plugin does (CheckRequest → proto3 JSON → input map with parsed_path →
// prepared query `data.envoy.authz.allow` → allow or deny). It exists because
// opa-envoy-plugin itself cannot be fetched on this machine (the Go module proxy refuses
// it); see benchmarks/README.md. It is built by the benchmark script and never committed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
)

type server struct {
	authv3.UnimplementedAuthorizationServer
	query rego.PreparedEvalQuery
}

var (
	allowResponse = &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
	}
	denyResponse = &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(codes.PermissionDenied)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status: &typev3.HttpStatus{Code: typev3.StatusCode_Forbidden},
		}},
	}
)

// input mirrors opa-envoy-plugin's request-to-input step: the whole request as JSON, plus
// the path split into segments.
func input(req *authv3.CheckRequest) (ast.Value, error) {
	bs, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	var in map[string]interface{}
	if err := json.Unmarshal(bs, &in); err != nil {
		return nil, err
	}
	segments := []interface{}{}
	if u, err := url.Parse(req.GetAttributes().GetRequest().GetHttp().GetPath()); err == nil {
		for _, s := range strings.Split(strings.TrimLeft(u.Path, "/"), "/") {
			segments = append(segments, s)
		}
	}
	in["parsed_path"] = segments
	return ast.InterfaceToValue(in)
}

func (s *server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	in, err := input(req)
	if err != nil {
		return denyResponse, nil
	}
	rs, err := s.query.Eval(ctx, rego.EvalParsedInput(in))
	if err != nil || len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return denyResponse, nil
	}
	if allowed, ok := rs[0].Expressions[0].Value.(bool); ok && allowed {
		return allowResponse, nil
	}
	return denyResponse, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	policyFile := flag.String("policy", "policy.rego", "Rego policy")
	dataFile := flag.String("data", "data.json", "policy data (JSON)")
	flag.Parse()

	policy, err := os.ReadFile(*policyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	raw, err := os.ReadFile(*dataFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var data map[string]interface{}
	if err := json.Unmarshal(raw, &data); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	query, err := rego.New(
		rego.Query("data.envoy.authz.allow"),
		rego.Module("policy.rego", string(policy)),
		rego.Store(inmem.NewFromObject(data)),
	).PrepareForEval(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	g := grpc.NewServer()
	authv3.RegisterAuthorizationServer(g, &server{query: query})
	fmt.Printf("listening %d\n", lis.Addr().(*net.TCPAddr).Port)
	if err := g.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
