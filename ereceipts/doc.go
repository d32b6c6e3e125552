// Package ereceipts is Tally's e-receipt API in the shapes of the
// BlinkReceipt E-Receipt API, so that its clients can point at Tally: the
// account settings (results endpoint, cut-offs, retailers, aggregation),
// job states, and the EReceipt result objects posted to the results
// endpoint. A job is an ordinary e-mail document (source "ereceipt"); its
// number is the stream sequence of the event that created it, so a job
// can be found without any index that could lag behind.
package ereceipts
