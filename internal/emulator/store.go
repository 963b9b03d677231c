package emulator

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/scf-dbbrain/addusercontact/internal/atomicfile"
)

// Contact is one stored contact, shaped like DescribeAllUserContact's
// ContactItem.
type Contact struct {
	Id   int64  // The API spells it Id.
	Name string // The contact's name.
	Mail string // The contact's email address.
}

// stateFile is the persisted form of the contact store.
type stateFile struct {
	NextId   int64
	Contacts []Contact
}

// store holds the contacts in memory, or in a state file that several
// emulator processes may share: Server's mutex serialises its use within a
// process, a lock file across processes.
type store struct {
	path  string // "" keeps the state in memory only
	state stateFile
}

func newStore(path string) (*store, error) {
	s := &store{path: path, state: stateFile{NextId: 1}}
	if path == "" {
		return s, nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("state %s is a directory", path)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	return s, errors.Join(s.load(), unlock())
}

// load re-reads the state file, which another process may have changed.
// Writers replace it atomically, so reading needs no lock.
func (s *store) load() error {
	if s.path == "" {
		return nil
	}
	raw, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var st stateFile
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	if err != nil {
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	slices.SortFunc(st.Contacts, func(a, b Contact) int { return cmp.Compare(a.Id, b.Id) })
	for i, c := range st.Contacts {
		if c.Id <= 0 || (i > 0 && st.Contacts[i-1].Id == c.Id) {
			return fmt.Errorf("state %s: contact id %d is not positive or appears twice", s.path, c.Id)
		}
		st.NextId = max(st.NextId, c.Id+1)
	}
	st.NextId = max(st.NextId, 1)
	s.state = st
	return nil
}

// list returns the contacts ordered by Id, as fresh as the file allows.
func (s *store) list() []Contact {
	_ = s.load() // a failed read keeps the last known contacts
	return slices.Clone(s.state.Contacts)
}

// add stores a contact unless check, run on the current contacts, refuses
// it. Under the lock it re-reads the file and writes it before the change
// is visible, so that concurrent processes never reuse an Id or lose a
// contact, and a failed write leaves no trace.
func (s *store) add(name, mail string, check func([]Contact) error) (Contact, error) {
	if s.path != "" {
		unlock, err := lockFile(s.path + ".lock")
		if err != nil {
			return Contact{}, err
		}
		defer func() { _ = unlock() }()
		if err := s.load(); err != nil {
			return Contact{}, err
		}
	}
	if err := check(s.state.Contacts); err != nil {
		return Contact{}, err
	}
	c := Contact{Id: s.state.NextId, Name: name, Mail: mail}
	next := stateFile{NextId: c.Id + 1, Contacts: append(slices.Clip(s.state.Contacts), c)}
	if s.path != "" {
		// Mode 0600: contacts are personal data.
		err := atomicfile.Write(s.path, 0o600, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(next)
		})
		if err != nil {
			return Contact{}, fmt.Errorf("write state: %w", err)
		}
	}
	s.state = next
	return c, nil
}
