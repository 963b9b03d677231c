package emulator

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Contact is one stored contact, shaped like DescribeAllUserContact's
// ContactItem.
type Contact struct {
	Id   int64  // the API spells it Id
	Name string // The contact's name.
	Mail string // The contact's email address.
}

// stateFile is the persisted form of the contact store.
type stateFile struct {
	NextId   int64
	Contacts []Contact
}

// store holds the contacts. It is not safe for concurrent use: Server
// guards it with its mutex.
type store struct {
	path     string // "" keeps the state in memory only
	nextID   int64
	contacts []Contact // ordered by Id
	byName   map[string]int64
}

func newStore(path string) (*store, error) {
	s := &store{path: path, nextID: 1, byName: map[string]int64{}}
	if path == "" {
		return s, nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("parse state %s: %w", path, err)
	}
	var maxID int64
	for _, c := range st.Contacts {
		if c.Id <= 0 {
			return nil, fmt.Errorf("state %s: contact id %d is not positive", path, c.Id)
		}
		if _, dup := s.byName[c.Name]; dup {
			return nil, fmt.Errorf("state %s: name %q appears twice", path, c.Name)
		}
		if slices.ContainsFunc(s.contacts, func(o Contact) bool { return o.Id == c.Id }) {
			return nil, fmt.Errorf("state %s: id %d appears twice", path, c.Id)
		}
		s.byName[c.Name] = c.Id
		s.contacts = append(s.contacts, c)
		maxID = max(maxID, c.Id)
	}
	slices.SortFunc(s.contacts, func(a, b Contact) int { return cmp.Compare(a.Id, b.Id) })
	s.nextID = max(st.NextId, maxID+1, 1)
	return s, nil
}

// add creates a contact; exists is true (and nothing changes) when the name
// is taken. The state file is written before the change is made visible, so
// a failed write leaves no trace.
func (s *store) add(name, mail string) (c Contact, exists bool, err error) {
	if _, ok := s.byName[name]; ok {
		return Contact{}, true, nil
	}
	c = Contact{Id: s.nextID, Name: name, Mail: mail}
	next := stateFile{NextId: s.nextID + 1, Contacts: append(slices.Clip(s.contacts), c)}
	if err := s.write(next); err != nil {
		return Contact{}, false, err
	}
	s.contacts = next.Contacts
	s.nextID = next.NextId
	s.byName[name] = c.Id
	return c, false, nil
}

// find returns the contacts whose name contains any of names, ignoring case,
// like the service's fuzzy match; no names returns every contact.
func (s *store) find(names []string) []Contact {
	out := []Contact{}
	for _, c := range s.contacts {
		if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool {
			return strings.Contains(strings.ToLower(c.Name), strings.ToLower(n))
		}) {
			out = append(out, c)
		}
	}
	return out
}

func (s *store) snapshot() []Contact { return slices.Clone(s.contacts) }

func (s *store) flush() error {
	return s.write(stateFile{NextId: s.nextID, Contacts: s.contacts})
}

// write replaces the state file atomically: a reader (or a crash) sees the
// old file or the new one, never a partial write.
func (s *store) write(st stateFile) error {
	if s.path == "" {
		return nil
	}
	if st.Contacts == nil {
		st.Contacts = []Contact{}
	}
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	dir, base := filepath.Split(s.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	return nil
}
