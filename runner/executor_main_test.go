package runner

import (
	"testing"

	"github.com/omsbook/omsbook/internal/executortest"
)

// TestMain lets the tests' ssh hosts run commands through the executor (OMSBOOK_EXECUTOR=on).
func TestMain(m *testing.M) { executortest.Main(m) }
