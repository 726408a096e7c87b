data = np.load(folder / "data.npz")
x_train, y_train = data["x_train"], data["y_train"]
x_validation, y_validation = data["x_validation"], data["y_validation"]
