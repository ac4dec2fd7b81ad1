package iimmpact

import "bytes"

// Every v2 answer is an envelope: a JSON object holding a "data" object and a
// metadata object, which bill presentment spells "metadata" and other
// endpoints "@metadata". This file reads that framing once for every
// endpoint, with one rule for the two spellings and one tracker of keys sent
// twice.

// keys tracks the documented keys of one answer, as "data.Outstanding", to
// find one sent twice. It holds them in an array: no map to allocate.
type keys struct {
	seen [32]string
	n    int
	dups []string // the documented keys met twice, in order
}

// duplicate is the first documented key met twice, or "".
func (k *keys) duplicate() string {
	if len(k.dups) == 0 {
		return ""
	}
	return k.dups[0]
}

// once records name and reports whether it was new.
func (k *keys) once(name string) bool {
	if k.met(name) {
		for _, d := range k.dups {
			if d == name {
				return false
			}
		}
		k.dups = append(k.dups, name)
		return false
	}
	if k.n < len(k.seen) {
		k.seen[k.n] = name
		k.n++
	}
	return true
}

func (k *keys) met(name string) bool {
	for _, n := range k.seen[:k.n] {
		if n == name {
			return true
		}
	}
	return false
}

// envelope is what readEnvelope found around the data.
type envelope struct {
	// metadata is the "metadata" object, or "@metadata" when only that
	// spelling was sent: one rule for every endpoint. nil when neither was.
	metadata     []byte
	metadataName string // the spelling read
	// trailing reports bytes after the envelope.
	trailing bool
}

// readEnvelope reads the envelope in body (a byte order mark and white space
// around it are ignored): data is given the value of each "data" member, in
// order, and other each member that is neither data nor metadata. Every
// top-level key is recorded in k, so one sent twice is in k.dups.
func readEnvelope(body []byte, k *keys, data func(val []byte), other func(key, val []byte)) (envelope, error) {
	var env envelope
	var at []byte
	framed := trimFraming(body)
	end, err := eachMemberOf(framed, func(key, val []byte) error {
		name := string(key)
		switch name {
		case "data":
			k.once(name)
			data(val)
			return nil
		case "metadata":
			k.once(name)
			env.metadata, env.metadataName = val, name
			return nil
		case "@metadata":
			k.once(name)
			at = val
			return nil
		}
		if other != nil {
			other(key, val)
		}
		return nil
	})
	if err != nil {
		return env, err
	}
	if env.metadata == nil && at != nil {
		env.metadata, env.metadataName = at, "@metadata"
	}
	env.trailing = end < len(framed)
	return env, nil
}

// trimFraming drops a UTF-8 byte order mark and white space around body.
func trimFraming(body []byte) []byte {
	return bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\ufeff")))
}
