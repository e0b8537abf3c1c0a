package main

import (
	"context"
	"errors"
	"io"
)

func runDICOM(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("dicom: not implemented yet")
}
