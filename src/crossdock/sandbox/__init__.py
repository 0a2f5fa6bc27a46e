"""Local stand-ins for what tests, benchmarks and the demo need running: a durable NATS server today; the Tryton
ERP, the Salesforce sandbox and the supplier SFTP server as their issues land."""
