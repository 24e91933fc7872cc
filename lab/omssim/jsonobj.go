package omssim

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// kv is one member of a JSON object.
type kv struct {
	Key   string
	Value json.RawMessage
}

// orderedObject is a JSON object that keeps its members' order, so that editing ha.config
// changes only what it must.
type orderedObject []kv

func (o orderedObject) has(k string) bool {
	for _, m := range o {
		if m.Key == k {
			return true
		}
	}
	return false
}

func (o orderedObject) without(k string) orderedObject {
	var out orderedObject
	for _, m := range o {
		if m.Key != k {
			out = append(out, m)
		}
	}
	return out
}

// UnmarshalJSON reads an object's members in order.
func (o *orderedObject) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want a JSON object, got %v", tok)
	}
	*o = nil
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*o = append(*o, kv{key, v})
	}
	_, err = dec.Token()
	return err
}

// MarshalJSON writes the members in order, compactly.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(m.Key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		var c bytes.Buffer
		if err := json.Compact(&c, m.Value); err != nil {
			return nil, err
		}
		buf.Write(c.Bytes())
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
