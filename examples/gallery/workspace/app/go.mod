module example.com/app

go 1.24

require example.com/gotally v0.0.0
