package kb

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// corpusCache is what a start needs besides the Bleve index: the parsed
// articles and their analysed terms. Parsing and analysing every article
// again cost twice as much as opening the index, so it is kept next to the
// index and reused under the same content hash.
type corpusCache struct {
	Hash         string
	Langs        []string
	DefaultLang  string
	Articles     []*Article
	LoadProblems []Problem
	Vocab        map[string][]string // lang -> terms in id order
	Terms        map[string]*termSet
}

// cachePath keeps the cache beside the index directory, not inside it, so
// that Bleve never sees a file it did not write.
func cachePath(indexDir string) string { return filepath.Clean(indexDir) + ".corpus" }

// writeCache stores the corpus under hash, atomically: a crash leaves the
// old cache or none, never half of one.
func writeCache(indexDir, hash string, c *Corpus, loadProblems []Problem, td *termData) error {
	cc := corpusCache{Hash: hash, Langs: c.Langs, DefaultLang: c.DefaultLang, Articles: c.Articles(),
		LoadProblems: loadProblems, Vocab: map[string][]string{}, Terms: td.terms}
	for l, v := range td.vocab {
		list := make([]string, len(v))
		for t, id := range v {
			list[id] = t
		}
		cc.Vocab[l] = list
	}
	path := cachePath(indexDir)
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("kb: write corpus cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	// The gob stream is followed by its CRC-32: gob decodes a string with
	// a damaged byte in it without a word, and the bot would quote it.
	sum := crc32.NewIEEE()
	if err := gob.NewEncoder(io.MultiWriter(tmp, sum)).Encode(&cc); err != nil {
		tmp.Close()
		return fmt.Errorf("kb: write corpus cache: %w", err)
	}
	if _, err := tmp.Write(sum.Sum(nil)); err != nil {
		tmp.Close()
		return fmt.Errorf("kb: write corpus cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("kb: write corpus cache: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// readCache returns the cached corpus if it was built from articles with
// this hash; errStale otherwise.
func readCache(indexDir, hash string) (*Corpus, []Problem, *termData, error) {
	f, err := os.Open(cachePath(indexDir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil, errStale
		}
		return nil, nil, nil, err
	}
	defer f.Close()
	// gob reads exactly its messages from a ByteReader, so what sum sees
	// is the stream the writer summed, and the checksum follows in br.
	br := bufio.NewReader(f)
	sum := &summingReader{r: br, h: crc32.NewIEEE()}
	var cc corpusCache
	if err := gob.NewDecoder(sum).Decode(&cc); err != nil {
		return nil, nil, nil, fmt.Errorf("kb: read corpus cache: %w", err)
	}
	var want [4]byte
	if _, err := io.ReadFull(br, want[:]); err == io.EOF {
		return nil, nil, nil, errStale // written before caches had a checksum
	} else if err != nil {
		return nil, nil, nil, fmt.Errorf("kb: read corpus cache: %w", err)
	}
	if got := sum.h.Sum32(); got != binary.BigEndian.Uint32(want[:]) {
		return nil, nil, nil, fmt.Errorf("kb: read corpus cache: checksum %08x, want %08x", got, binary.BigEndian.Uint32(want[:]))
	}
	if cc.Hash != hash {
		return nil, nil, nil, errStale
	}
	c := NewCorpus(cc.Langs, cc.DefaultLang)
	for _, a := range cc.Articles {
		c.Add(a)
	}
	td := &termData{vocab: map[string]vocabulary{}, terms: cc.Terms}
	if td.terms == nil {
		td.terms = map[string]*termSet{}
	}
	for l, list := range cc.Vocab {
		v := make(vocabulary, len(list))
		for id, t := range list {
			v[t] = uint32(id)
		}
		td.vocab[l] = v
	}
	for _, l := range c.Langs {
		if td.vocab[l] == nil {
			td.vocab[l] = vocabulary{}
		}
	}
	td.countDocs()
	return c, cc.LoadProblems, td, nil
}

// summingReader hashes what it reads, byte by byte or in blocks.
type summingReader struct {
	r *bufio.Reader
	h hash.Hash32
}

func (s *summingReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	return n, err
}

func (s *summingReader) ReadByte() (byte, error) {
	c, err := s.r.ReadByte()
	if err == nil {
		s.h.Write([]byte{c})
	}
	return c, err
}
