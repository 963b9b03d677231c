package signature

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newKeyStore indexes keys by SecretId.
func newKeyStore(keys ...Key) KeyStore {
	m := KeyStore{}
	for _, k := range keys {
		m[k.SecretID] = k
	}
	return m
}
