package ccda

import (
	"os"
	"path/filepath"
	"strings"
)

// walkXML calls fn for every .xml file under root.
func walkXML(root string, fn func(path string, data []byte)) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".xml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fn(p, b)
		return nil
	})
}

// RaceOn lets the external tests see raceOn.
const RaceOn = raceOn
