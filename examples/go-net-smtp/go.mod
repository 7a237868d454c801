module example.org/send

go 1.19
