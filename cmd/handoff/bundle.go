package main

import (
	"context"
	"errors"
	"io"
)

func runBundle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("bundle: not implemented yet")
}
