# The support payment (10,000 AFN), four-eyes approval and payout lists are built in the disbursements issue.
