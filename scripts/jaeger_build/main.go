// Command jaeger-memory runs Jaeger's own query server (cmd/query/app: /api/* v1 JSON and /api/v3/*)
// over Jaeger's own v2 in-memory trace store, fed by OTLP/HTTP protobuf on /v1/traces. Spans go
// through Jaeger's sanitizer before the store, as cmd/jaeger's storage exporter does. It is the
// jaeger_query + jaeger_storage(memory) part of `cmd/jaeger`, wired the way
// cmd/jaeger/internal/extension/jaegerquery/server.go wires it, without the collector pipeline
// (whose receivers and exporters pull in Kafka, Cassandra, Elasticsearch and other clients).
package main

import (
	"context"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"go.opentelemetry.io/collector/pdata/ptrace"

	queryapp "github.com/jaegertracing/jaeger/cmd/query/app"
	"github.com/jaegertracing/jaeger/cmd/query/app/querysvc"
	v2querysvc "github.com/jaegertracing/jaeger/cmd/query/app/querysvc/v2/querysvc"
	"github.com/jaegertracing/jaeger/internal/jptrace/sanitizer"
	"github.com/jaegertracing/jaeger/internal/storage/metricstore/disabled"
	v1memory "github.com/jaegertracing/jaeger/internal/storage/v1/memory"
	"github.com/jaegertracing/jaeger/internal/storage/v2/memory"
	"github.com/jaegertracing/jaeger/internal/telemetry"
	"github.com/jaegertracing/jaeger/internal/tenancy"
)

func main() {
	queryHTTP := flag.String("query-http", "127.0.0.1:46686", "jaeger_query HTTP endpoint")
	queryGRPC := flag.String("query-grpc", "127.0.0.1:46685", "jaeger_query gRPC endpoint")
	otlpHTTP := flag.String("otlp-http", "127.0.0.1:44328", "OTLP/HTTP (protobuf) receiver endpoint")
	flag.Parse()
	ctx := context.Background()
	telset := telemetry.NoopSettings()

	factory, err := memory.NewFactory(v1memory.Configuration{MaxTraces: 100000}, telset)
	check(err)
	reader, err := factory.CreateTraceReader()
	check(err)
	writer, err := factory.CreateTraceWriter()
	check(err)
	deps, err := factory.CreateDependencyReader()
	check(err)

	options := queryapp.DefaultQueryOptions()
	options.HTTP.NetAddr.Endpoint = *queryHTTP
	options.GRPC.NetAddr.Endpoint = *queryGRPC
	qs := querysvc.NewQueryService(reader, deps, querysvc.QueryServiceOptions{MaxClockSkewAdjust: options.MaxClockSkewAdjust})
	v2qs := v2querysvc.NewQueryService(reader, deps, v2querysvc.QueryServiceOptions{MaxClockSkewAdjust: options.MaxClockSkewAdjust})
	mqs, err := disabled.NewMetricsReader()
	check(err)
	server, err := queryapp.NewServer(ctx, qs, v2qs, mqs, &options, tenancy.NewManager(&options.Tenancy), telset)
	check(err)
	check(server.Start(ctx))

	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			var td ptrace.Traces
			td, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body)
			if err == nil {
				err = writer.WriteTraces(r.Context(), sanitizer.Sanitize(td))
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	})
	listener, err := net.Listen("tcp", *otlpHTTP)
	check(err)
	go func() { check(http.Serve(listener, mux)) }()
	log.Printf("jaeger query http=%s grpc=%s otlp-http=%s", *queryHTTP, *queryGRPC, listener.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	check(server.Close())
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
