"""Steps of the iris example: plain Python functions that zenctl calls by `module:function`."""
