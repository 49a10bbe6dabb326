"""youthvoice: the voice of young people who neither work nor study, heard and answered."""

__version__ = "0.1.0"
