package tc3

import (
	"crypto/sha256"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }
