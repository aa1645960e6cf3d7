"""HTTP headers of reads and deposits under consent, shared by the pod and the departments that call it."""

PURPOSE_HEADER = "Consent-Purpose"  # the DPV purpose a department states for a read or deposit
RECEIPT_HEADER = "Consent-Receipt"  # the consent receipt (compact JWS) it presents, if any
LEDGER_INDEX_HEADER = "Consent-Ledger-Index"  # the decision's entry in the transparency ledger
