//go:build tools

// Package tools pins the ansible-operator command built by `make tools`.
package tools

import (
	_ "github.com/operator-framework/ansible-operator-plugins/cmd/ansible-operator"
)
