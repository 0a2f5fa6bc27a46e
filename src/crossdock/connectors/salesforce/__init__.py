"""Salesforce: OAuth 2.0, SOQL capture by SystemModstamp or Change Data Capture, upserts by Crossdock_Id__c."""
