"""The fake SMTP server: the only package that imports aiosmtpd."""
