package iimmpact

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A doc comment cites only files in the repository: the vendor's pages are
// cited by their path on its documentation site.
func TestDocsCiteOnlyFilesInTheRepository(t *testing.T) {
	cited := regexp.MustCompile(`//.*?\b([\w./-]+\.md)\b`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range cited.FindAllStringSubmatch(string(src), -1) {
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), m[1])); err != nil {
				if _, err := os.Stat(m[1]); err != nil {
					t.Errorf("%s cites %s, which is not in the repository", path, m[1])
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
}
