select watermark
from raw.watermarks
where source = %(key)s
