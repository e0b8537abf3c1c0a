package main

import (
	"context"
	"errors"
	"io"
)

func runOCR(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("ocr: not implemented yet")
}
