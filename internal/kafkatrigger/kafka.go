package kafkatrigger

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// Security returns the client options of a cluster that wants SASL PLAIN
// (user non-empty) and TLS, as a CKafka instance's public access does:
// SASL_PLAINTEXT or SASL_SSL. TLS trusts the system's roots and checks the
// broker's name.
func Security(user, password string, useTLS bool) []kgo.Opt {
	var opts []kgo.Opt
	if user != "" {
		opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: password}.AsMechanism()))
	}
	if useTLS {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	return opts
}

// Embedded starts an in-process Kafka cluster (kfake) of one broker on a
// free 127.0.0.1 port, holding topic with the given number of partitions.
// Close it when done; its address is ListenAddrs()[0]. opts come last, so
// a test can replace the listener.
func Embedded(topic string, partitions int, opts ...kfake.Opt) (*kfake.Cluster, error) {
	if partitions < 1 {
		return nil, fmt.Errorf("embedded kafka: %d partitions: want at least 1", partitions)
	}
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(int32(partitions), topic)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("embedded kafka: %w", err)
	}
	return c, nil
}

// Conn is how to reach a Kafka cluster.
type Conn struct {
	Brokers []string  // bootstrap HOST:PORT addresses
	Opts    []kgo.Opt // added to the client's options: Security's, a test's dialer
	// Timeout bounds the first request. kgo keeps retrying a wrong
	// address or wrong credentials; this turns them into an error. 0
	// means DefaultConnectTimeout.
	Timeout time.Duration
}

// client makes a client of the cluster with opts, then Conn.Opts.
func (c Conn) client(opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(slices.Concat([]kgo.Opt{kgo.SeedBrokers(c.Brokers...)}, opts, c.Opts)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return cl, nil
}

// partitions is the first request to the cluster: how many partitions
// topic has, within Timeout.
func (c Conn) partitions(ctx context.Context, cl *kgo.Client, topic string) (int, error) {
	timeout := cmp.Or(c.Timeout, DefaultConnectTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n, err := topicPartitions(ctx, cl, topic)
	if errors.Is(err, context.DeadlineExceeded) {
		return 0, fmt.Errorf("no answer from Kafka at %s within %s: check the address, the SASL user and password, and TLS: %w",
			strings.Join(c.Brokers, ","), timeout, err)
	}
	return n, err
}

// Publish produces records to topic and waits until the cluster has
// acknowledged every one. A record with a key goes to the partition its key
// hashes to, as Kafka's own clients place it; one without, to any; set
// kgo.RecordPartitioner(kgo.ManualPartitioner()) in conn.Opts to place
// them by their Partition.
func Publish(ctx context.Context, conn Conn, topic string, records []*kgo.Record) error {
	cl, err := conn.client(
		kgo.DefaultProduceTopic(topic),
		// Idempotent writes need a permission that a CKafka user may
		// lack; one request in flight per broker keeps a key's order.
		kgo.DisableIdempotentWrite(),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := conn.partitions(ctx, cl, topic); err != nil {
		return err
	}
	for _, r := range records {
		r.Topic = topic
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		return fmt.Errorf("publishing to %s: %w", topic, err)
	}
	return nil
}

// topicPartitions asks the cluster how many partitions topic has.
func topicPartitions(ctx context.Context, cl *kgo.Client, topic string) (int, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, fmt.Errorf("asking Kafka for topic %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return 0, fmt.Errorf("topic %s: %w", topic, err)
		}
		return len(t.Partitions), nil
	}
	return 0, fmt.Errorf("topic %s: not in the cluster's answer", topic)
}
