module example.com/desktop

go 1.24
