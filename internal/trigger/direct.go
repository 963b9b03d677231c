package trigger

// A direct invocation (the Invoke API, or a workflow task such as a Tencent
// ASW state) has no envelope: its JSON is the request itself, either one
// contact {"Name":..,"ContactInfo":..,"Product":..} or a batch
// {"Contacts":[...]}. Decode therefore passes the event's members through
// as the parameters, and there is no event type to declare here.
