package envelope

import (
	"errors"
	"testing"

	"github.com/scf-dbbrain/addusercontact/internal/apierror"
)

func TestSuccessMatchesAPIPage(t *testing.T) {
	got := string(Success(1, "77db16d7-bbe8-48a7-868b-ed776a96f1ab"))
	want := `{"Response":{"Id":1,"RequestId":"77db16d7-bbe8-48a7-868b-ed776a96f1ab"}}`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestError(t *testing.T) {
	upstream := &apierror.Error{Code: "FailedOperation", Message: "name exists", RequestID: "up-1"}
	if got, want := string(Error(upstream, "inv-1")), `{"Response":{"Error":{"Code":"FailedOperation","Message":"name exists"},"RequestId":"up-1"}}`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	local := apierror.New(apierror.MissingParameter, "Name is required")
	if got, want := string(Error(local, "inv-2")), `{"Response":{"Error":{"Code":"MissingParameter","Message":"Name is required"},"RequestId":"inv-2"}}`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if got, want := string(Error(errors.New("x"), "inv-3")), `{"Response":{"Error":{"Code":"InternalError","Message":"unexpected internal failure"},"RequestId":"inv-3"}}`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestBatch(t *testing.T) {
	id := int64(7)
	got := string(Batch([]Result{
		{Name: "a", ID: &id},
		{Name: "b", Error: &ErrorBody{Code: "InvalidParameterValue", Message: "bad"}},
	}, "inv"))
	want := `{"Response":{"Results":[{"Name":"a","Id":7},{"Name":"b","Error":{"Code":"InvalidParameterValue","Message":"bad"}}],"SucceededCount":1,"FailedCount":1,"RequestId":"inv"}}`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if got := string(Batch(nil, "r")); got != `{"Response":{"Results":[],"SucceededCount":0,"FailedCount":0,"RequestId":"r"}}` {
		t.Errorf("empty batch: %s", got)
	}
}
