"""Local stand-ins for what tests, benchmarks and the demo need running: a durable NATS server today; the Tryton
ERP, the Salesforce sandbox and an SFTP server for partners' mailboxes (`sftp.py`)."""
